"""HTTP access shared by every vendor: endpoints, retries, rate limits, OAuth2, masking."""
