"""Pure rules over the normalized events: contacts, order facts and recency, fulfilment, consent."""
