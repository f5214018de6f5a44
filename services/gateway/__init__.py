"""Gateway: the single origin for API clients (/api/<service>/…) and the residents' web page."""
