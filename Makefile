# Crucible: `make run` opens the cockpit, `make test` runs the whole suite.
# Both set up whatever is missing first (Debian packages, .venv, the Rust core).

.PHONY: setup run headless test bench screenshot clean

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/crucible run

headless: setup
	.venv/bin/crucible run --headless

test: setup
	@scripts/test.sh

bench: setup
	.venv/bin/python bench/run_all.py

clean:
	rm -rf .venv cerebellum_core/target .pytest_cache .mypy_cache .ruff_cache
