"""The counter's workflow screens, one per kind of errand, pushed by the counter app.

The contract between the counter app and a workflow (kiosk/faces/workflows/context.py):
`screen_for(context)` gives the Screen for the errand being served (None: the errand has no
workflow, the clerk just completes it); the screen is pushed with a callback and dismisses
itself with a `WorkflowResult`.
"""
