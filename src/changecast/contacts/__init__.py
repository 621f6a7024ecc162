"""SES contact lists, topics and contacts; Identity Center import; alternate contacts."""
