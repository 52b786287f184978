"""tap-batchimport: Singer tap for the results of asynchronous batch-import jobs."""
