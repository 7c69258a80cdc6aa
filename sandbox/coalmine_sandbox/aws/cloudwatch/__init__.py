"""CloudWatch, emulated: AWS/Lambda metrics, their statistics, the GetMetricData and
GetMetricStatistics answers, and alarm evaluation."""
