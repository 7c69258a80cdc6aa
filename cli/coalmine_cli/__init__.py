"""The `coalmine` command: start and watch deployments on AWS, rehearse them in the sandbox."""
