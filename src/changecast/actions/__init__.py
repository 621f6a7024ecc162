"""The application layer: the one action pipeline and the use cases that span domain packages."""
