"""The product catalogue for Dotdigital: the merchant's attribute mapping and products as resolved
from Commerce (labels, not option ids)."""
