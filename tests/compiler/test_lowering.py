"""Lowering to the IR: bindings, guards, loops with fan-in, after, finally, settings."""

from __future__ import annotations

from treadle.compiler import ir
from treadle.compiler.types import FLOAT, INT, STR, list_of

from ..helpers import compile_text

COMPONENTS = '''
component make(n: int = 1) -> (data: Dataset, score: float, names: list[str]) {
  image = "registry.example/make:1"
  command = ["make", n, data, score, names]
  retries = 1
  resources { cpu = "500m", memory = "1Gi", gpu = 1 }
  env { MODE = "fast", TOKEN = secret("api", "token"), N = n }
}

component use(data: Dataset, x: float = 0.5, label: str = "") -> (out: float) {
  image = "registry.example/use:1"
  command = ["use", data, x, label, out]
  timeout = "1h30m"
}

component sum(values: list) {
  image = "registry.example/sum:1"
  args = ["--values", values]
}
'''


def lower(body: str, params: str = ""):
    result = compile_text(COMPONENTS + f"\npipeline p({params}) {{\n{body}\n}}\n")
    assert result.ok, [(d.code, d.message, d.span) for d in result.diagnostics if d.is_error]
    graph = result.pipelines["p"]
    assert ir.validate(graph) == []
    return graph


def task(graph, name) -> ir.Task:
    return graph.nodes[name]["task"]


def test_bindings_and_edges():
    graph = lower('  m = make(n=n)\n  u = use(data=m.data, x=m.score, label="a")\n  use(data=m.data, x=2)', "n: int = 3")
    assert task(graph, "m").arguments == (("n", ir.ParamRef("n")),)
    assert task(graph, "u").arguments == (("data", ir.TaskOutput("m", "data")), ("x", ir.TaskOutput("m", "score")),
                                          ("label", ir.Const("a")))
    assert task(graph, "use").arguments[1] == ("x", ir.Const(2.0))  # int widened to float
    assert graph.edges["m", "u"] == {"reads": ("data", "score"), "order": False}
    assert [t.id for t in ir.tasks(graph)] == ["m", "u", "use"]


def test_component_settings_and_overrides():
    graph = lower('  m = make()\n  m2 = make() with { retries = 4, timeout = "2h", resources { cpu = "2" } }')
    settings = task(graph, "m").settings
    assert settings.retries == 1 and settings.resources == ir.Resources(cpu="500m", memory="1Gi", gpu=1)
    assert settings.env == (ir.EnvVar("MODE", "fast"), ir.EnvVar("N", ir.InputValue("n")),
                            ir.EnvVar("TOKEN", ir.SecretRef("api", "token")))
    override = task(graph, "m2").settings
    assert (override.retries, override.timeout_seconds, override.resources.cpu, override.resources.memory) == (
        4, 7200, "2", "1Gi")
    assert task(graph, "m").component is task(graph, "m2").component


def test_conditions_else_and_nesting():
    graph = lower('  m = make()\n  if m.score >= t and not flag {\n    a = use(data=m.data)\n  } else {\n'
                  '    if flag { b = use(data=m.data) }\n  }', "t: float = 0.5, flag: bool = false")
    score = ir.Compare(">=", ir.TaskOutput("m", "score"), ir.ParamRef("t"))
    condition = ir.And((score, ir.Not(ir.Truthy(ir.ParamRef("flag")))))
    assert task(graph, "a").guard == condition
    assert task(graph, "b").guard == ir.And((ir.Not(condition), ir.Truthy(ir.ParamRef("flag"))))
    assert graph.edges["m", "b"]["reads"] == ("data", "score")


def test_loops_items_and_fan_in():
    graph = lower('  m = make()\n  for x in [0.1, 0.2] {\n    u = use(data=m.data, x=x)\n  }\n  sum(values=u.out)\n'
                  '  for name in m.names {\n    v = use(data=m.data, label=name)\n  }')
    pipeline = ir.info(graph)
    first, second = pipeline.loops
    assert first.items == ir.Const([0.1, 0.2]) and first.item_type == FLOAT
    assert second.items == ir.TaskOutput("m", "names") and second.item_type == STR
    assert task(graph, "u").loops == (first.id,) and task(graph, "u").arguments[1] == ("x", ir.LoopItem(first.id))
    assert task(graph, "sum").arguments == (("values", ir.TaskOutput("u", "out", (first.id,))),)
    assert graph.has_edge("m", "v") and "names" in graph.edges["m", "v"]["reads"]


def test_nested_loops_gather_one_level_each():
    graph = lower('  m = make()\n  for i in [1, 2] {\n    for j in [3, 4] {\n      u = use(data=m.data, x=j)\n    }\n  }\n'
                  '  sum(values=u.out)')
    outer, inner = ir.info(graph).loops
    assert inner.parent == outer.id and inner.item_type == INT
    assert task(graph, "sum").arguments[0][1] == ir.TaskOutput("u", "out", (outer.id, inner.id))


def test_after_finally_and_pipeline_settings():
    graph = lower('  schedule = "0 3 * * *"\n  parallelism = 4\n  a = make()\n  b = make() after a\n'
                  '  finally {\n    use2 = sum(values=[1, 2])\n  }')
    assert graph.edges["a", "b"] == {"reads": (), "order": True}
    assert task(graph, "use2").is_finally and not task(graph, "a").is_finally
    info = ir.info(graph)
    assert (info.schedule, info.parallelism) == ("0 3 * * *", 4)


def test_unnamed_steps_get_distinct_ids():
    graph = lower('  make()\n  make()\n  make_2 = make()')
    assert sorted(graph.nodes) == ["make", "make_2", "make_3"]


def test_list_types():
    graph = lower('  m = make()\n  sum(values=m.names)')
    assert task(graph, "m").component.output("names").type == list_of(STR)


def test_validate_reports_broken_graphs():
    graph = lower('  m = make()\n  u = use(data=m.data)')
    graph.remove_edge("m", "u")
    assert any("no edge from m" in problem for problem in ir.validate(graph))
    graph.add_edge("u", "m")
    graph.add_edge("m", "u")
    assert "the graph has a cycle" in ir.validate(graph)


def test_loops_carry_the_conditions_around_them():
    graph = lower('''  a = make()
  for n in [1, 2] {
    b = make(n=n)
  }
  if a.score > 0.5 and flag {
    if a.score < 0.9 {
      for m in [3, 4] {
        for k in [5] {
          if k > m {
            c = make(n=k)
          }
        }
      }
    }
  }''', "flag: bool = true")
    loops = {loop.variable: loop for loop in ir.info(graph).loops}
    assert loops["n"].guard is None
    outer = task(graph, "c").guard.operands[:2]
    assert isinstance(outer[0], ir.And) and isinstance(outer[1], ir.Compare)
    assert loops["m"].guard == ir.And(outer) and loops["k"].guard == ir.And(outer)
    assert task(graph, "c").guard.operands[2] == ir.Compare(">", ir.LoopItem(loops["k"].id), ir.LoopItem(loops["m"].id))


def test_validate_reports_a_loop_guard_that_its_tasks_do_not_share():
    import dataclasses

    graph = lower('  if flag {\n    for n in [1, 2] {\n      b = make(n=n)\n    }\n  }', "flag: bool = true")
    pipeline = ir.info(graph)
    (loop,) = pipeline.loops
    graph.graph["info"] = dataclasses.replace(pipeline, loops=(dataclasses.replace(loop, guard=ir.Not(loop.guard)),))
    assert ir.validate(graph) == [f"b: its guard does not start with the guard of its loop {loop.id}"]


def test_validate_reports_a_condition_on_a_gathered_list():
    """Conditions compare single values (E208), so no backend has to decide a list."""
    import dataclasses

    graph = lower('  for n in [1, 2] {\n    b = make(n=n)\n  }\n  if flag {\n    c = make()\n  }', "flag: bool = true")
    assert ir.validate(graph) == []
    (loop,) = ir.info(graph).loops
    c = task(graph, "c")
    graph.add_edge("b", "c")
    guard = ir.Compare(">", ir.TaskOutput("b", "score", (loop.id,)), ir.Const(0.5))
    graph.nodes["c"]["task"] = dataclasses.replace(c, guard=guard)
    assert ir.validate(graph) == ["c: its condition reads the outputs of b gathered into a list"]


def test_ports_with_list_and_dict_defaults_are_hashable():
    listed = ir.Port("grid", list_of(INT), True, [1, 2])
    assert hash(listed) == hash(ir.Port("grid", list_of(INT), True, [1, 2]))
    assert len({listed, ir.Port("grid", list_of(INT), True, [1, 2]), ir.Port("opts", STR, True, {"a": [1]})}) == 2


def test_tasks_come_in_source_order_after_what_they_wait_for():
    graph = lower('  a = make()\n  b = use(data=c.data, x=d.score)\n  c = make()\n  d = make(n=2) after c\n  e = use(data=a.data)')
    assert [t.id for t in ir.tasks(graph)] == ["a", "c", "d", "b", "e"]


def test_equal_settings_are_one_object():
    """Backends and passes key their work by the settings object before comparing contents."""
    graph = lower('  a = sum(values=[1])\n  b = sum(values=[2])\n  c = use(data=m.data)\n  m = make()\n'
                  '  d = use(data=m.data) with { timeout = "1h30m" }\n  e = use(data=m.data) with { retries = 2 }\n'
                  '  f = sum(values=[3]) with { cache = true }')
    assert task(graph, "a").settings is task(graph, "b").settings
    assert task(graph, "c").settings is task(graph, "d").settings  # the override repeats the component's value
    assert task(graph, "e").settings is not task(graph, "c").settings
    assert task(graph, "f").settings == task(graph, "a").settings  # cache_asked is left out of ==
    assert task(graph, "f").settings is not task(graph, "a").settings and task(graph, "f").settings.cache_asked
