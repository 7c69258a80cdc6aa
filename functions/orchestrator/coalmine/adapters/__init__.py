"""Thin AWS adapters, one module per service. Each takes a boto3 client (a moto-backed one in
tests) and translates botocore ``ClientError`` codes into coalmine's exceptions."""
