"""One router per API resource; every module here with a `router` is added to the app (hub_routes.include)."""
