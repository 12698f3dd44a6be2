"""The recipe engine: one unattended run, from a YAML file to its reports.

- `fields`: typed YAML fields with file:line:col errors (the schema's building blocks)
- `load`: the recipe schema, finding a recipe (a path or a shipped name) and validating it
- `roster`, `roster_check`: the lab roster that `rootlesskube-host-setup lab` writes
- `steps`: the plan of a recipe and the runner that executes it, step by step
- `artifacts`: the evidence collected when a step fails
- `report`: the terminal table, JSON and JUnit of one run
- `pytest_plugin`: the `rootless_cluster` fixture

The shipped recipes and the JSON Schema live in the top-level recipes/ folder.
"""
