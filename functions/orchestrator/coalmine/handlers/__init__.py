"""One module per state of statemachine/deployment.asl.json, each exposing ``handler``."""
