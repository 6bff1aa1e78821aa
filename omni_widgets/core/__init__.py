"""The gateway-neutral core: requests, tasks, errors, retry rules, the sans-IO protocol and the
clients that run it. It imports nothing from the notebook or magics layers."""
