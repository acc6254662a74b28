"""What the store keeps: products, customers, carts, orders, documents, and what sales operations do."""
