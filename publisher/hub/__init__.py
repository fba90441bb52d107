"""The built-in WebSub hub: requests, verification of intent, fan-out, delivery."""
