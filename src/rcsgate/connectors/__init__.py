"""Protocol adapters to operators: Google RBM, GSMA MaaP and SMPP. They import only `kit` and
their own modules; the dispatch pipeline gives them operator-ready bodies and ids and gets back
`Submitted`, `Capability` and `InboundEvent` values or a `ConnectorError`."""
