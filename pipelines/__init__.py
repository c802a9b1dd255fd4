"""Ready-made mr_luigi pipelines."""
