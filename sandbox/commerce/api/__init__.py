"""The Commerce sandbox over HTTP: server and live state, key host, REST (auth, searchCriteria), admin."""
