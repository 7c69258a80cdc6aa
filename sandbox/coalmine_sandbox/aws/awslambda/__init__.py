"""Lambda, emulated: the in-process runtime, code packages, alias routing, reserved concurrency,
asynchronous invocation and its destinations."""
