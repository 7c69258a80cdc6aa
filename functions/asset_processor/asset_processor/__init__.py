"""brand-asset-processor: the async sample (S3 -> brand-asset-processor:prod)."""
