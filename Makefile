# Two commands for a fresh machine with Python 3.11 and make:
#   make run    create .venv, install, generate the demo data on first run, serve on http://127.0.0.1:8501
#   make test   create .venv, install, run the whole test suite (unit, AppTest, browser)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= data
DEMO_LOANS ?= 60000
DEMO_MONTHS ?= 36

.PHONY: run test demo bench bench-pandas bench-browser lint clean-venv

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

$(DATA)/loans.parquet: | $(STAMP)
	$(PY) -m analytics.tools.demo --loans $(DEMO_LOANS) --months $(DEMO_MONTHS) --output $(DATA)

demo: $(STAMP)
	$(PY) -m analytics.tools.demo --loans $(DEMO_LOANS) --months $(DEMO_MONTHS) --output $(DATA) --force

run: $(STAMP) $(DATA)/loans.parquet
	OVERDUE_DATA_DIR=$(DATA) $(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port 8501 \
		--browser.gatherUsageStats false --server.headless true

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile --durations=25

bench: $(STAMP)
	$(PY) -m analytics.tools.benchmark --data $(DATA) --filters

bench-pandas: $(STAMP)
	$(PY) -m analytics.tools.baseline --data $(DATA)

bench-browser: $(STAMP)
	$(PY) -m browserbench --data $(DATA)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean-venv:
	rm -rf $(VENV)
