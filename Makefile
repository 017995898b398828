# The two set-up commands of the README:
#   make demo   brings the sandbox fleet up and deploys the demo project to it
#   make test   installs everything the tests need and runs the whole suite
PYTHON ?= python3

.PHONY: install deps test unit lint demo

deps:
	bash .ci/install-deps

install:
	$(PYTHON) -m pip install -q -e '.[test]'

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
test: deps install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest -p no:cacheprovider; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

unit: install
	$(PYTHON) -m pytest -p no:cacheprovider tests/unit

lint:
	$(PYTHON) -m ruff check .

demo: deps install
	shipdeck sandbox demo
