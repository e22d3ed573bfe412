"""Customer webhooks (API.md 2.8): events emitted in the transaction of the change they
report (`emit`), signed per Standard Webhooks (`signing`), delivered by durable per-endpoint
queues (`delivery`), listed and replayed through /v3/webhook-deliveries."""
