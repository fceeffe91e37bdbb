"""The assistant: the Messages API conversation, its tools over the service layer, and the
sanitising of everything that crosses between the broker, the model and the screen.

No Textual import anywhere here, and no ``anthropic`` import at module level (it is imported
when the first client is built).
"""
