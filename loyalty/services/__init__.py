"""The service layer: what a webhook or an API call does to stored state, one
transaction per call, with the rules engine deciding every number."""
