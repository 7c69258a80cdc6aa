# `make lock`: compile each Lambda bundle's and layer's requirements.in into requirements.txt, the
# lock file `sam build` installs: every transitive dependency pinned, with the hashes of its
# distributions (pip then installs in --require-hashes mode: nothing unpinned, nothing altered).
# Resolved for the Lambda runtime (Python 3.12, Linux x86_64); tests/unit/test_locks.py checks the
# result (pinned and hashed, one version of each package across the bundles and pyproject.toml).
# uv comes into .venv on first use (not a dev dependency: only a lock change needs it).
UV ?= $(BIN)/uv
LOCKED := functions/brand_api functions/brand_api_smoke functions/asset_processor layers/dependencies

$(BIN)/uv: | install
	$(BIN)/pip install $(PIP_QUIET) uv==0.13.9

.PHONY: lock
lock: $(UV)
	@for dir in $(LOCKED); do \
		echo "==> $$dir/requirements.txt"; \
		$(UV) pip compile --quiet --generate-hashes --python-version 3.12 \
			--python-platform x86_64-manylinux_2_17 --custom-compile-command "make lock" \
			--output-file $$dir/requirements.txt $$dir/requirements.in || exit 1; \
	done
