"""CloudFormation, emulated: template.yaml transformed (aws-sam-translator) and stood up through
the service APIs."""
