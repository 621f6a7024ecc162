"""Access: who is acting, with which role, and what that role may do."""
