# Shuangjian: `make demo` to try it, `make test` to check it. See README.md.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Where the demo is reached: printed by seed_demo and put in poster QR codes (set it to the machine's LAN address,
# e.g. http://192.168.1.20:8000 with HOST=0.0.0.0, to scan posters with a phone).
PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: install demo serve test test-fast lint bench fonts clean messages vendor

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	$(BIN)/pip install --quiet -e '.[dev]' > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	touch $@

# Chinese glyphs for posters and screenshots (DESIGN.md): installed where we can, otherwise say how.
fonts:
	@if fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null)) \
		|| echo "Could not install fonts-wqy-microhei; Chinese text in images may show as boxes."; \
	else echo "Tip: 'sudo apt-get install fonts-wqy-microhei' so Chinese text in images is drawn (not boxes)."; fi

demo: install fonts
	$(BIN)/python manage.py migrate --noinput
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/python manage.py seed_demo --base-url $(PUBLIC_BASE_URL)
	@echo "Serving HTTP and websockets on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/python manage.py runserver $(HOST):$(PORT)

serve: install
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite on whatever the environment names: the embedded default with nothing set, PostgreSQL + Redis
# + a real Celery worker with DATABASE_URL and REDIS_URL (see .ci/run).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

# The English catalogue (msgids are the Chinese source strings): collect new strings from the code and templates,
# then compile. Needs GNU gettext (xgettext, msgfmt) on the machine of whoever changes texts; the compiled
# locale/en/LC_MESSAGES/django.mo is committed, so `make demo` and `make test` need nothing but Python
# (tests/core/test_one_language.py fails when the .mo is older than the .po).
messages: install
	$(BIN)/python manage.py makemessages --locale en --no-obsolete --add-location file --ignore '.venv/*' --ignore 'bench/*' --ignore 'tests/*'
	$(BIN)/python manage.py compilemessages --locale en --ignore '.venv/*'

# The pages' front-end libraries (htmx, Alpine.js CSP build) at the versions pinned in tools/vendor.py, fetched
# from the npm registry, checked against their sha512 integrity, written to core/static/vendor/ with CHECKSUMS.
# Only when upgrading: the files are committed, so demo and test need no network and no Node.
vendor:
	$(PYTHON) tools/vendor.py

bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .ruff_cache
