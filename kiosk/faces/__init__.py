"""The faces: Textual apps over the station's service layers (the lobby board, the ticket
dispenser; the counter app and the supervisor's view build on the same foundation).

A face shows and asks; it decides nothing. Every rule lives in cabin.queue or cabin.kiosk, and
every call that can block (the database, a printer) runs in a thread worker that posts its
result back as a message.
"""
