"""Thin AWS adapters, one module per service (Lambda's in three: lambda_api, lambda_invoke,
lambda_async). Each takes a typed boto3 client (a moto-backed or stubbed one in tests); errors.py
translates botocore ``ClientError`` codes into coalmine's exceptions."""
