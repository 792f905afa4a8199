"""The language server (`treadle lsp`): analysis of buffers, and its pygls wiring."""
