"""The counter app a clerk works in: sign-in, the desk, the devices, the workflow screens."""
