"""The moto seams: the ONLY package that imports moto (pinned: moto==5.2.5).

Every moto internal the sandbox replaces or reads is listed in one table (registry.py: HOOKS and
READS); tests/sandbox/test_moto_hooks.py fails loudly when one of them moves. One module per
service holds that service's replacements; they reach the emulated services (`aws`) through the
installed MotoHooks (hooks.py). `mock.py` starts moto's mock_aws.
"""
