"""Places documents are synced from: a folder, a git repository, a web site, an S3 bucket."""
