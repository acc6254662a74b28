"""The storefront collector: shoppers' browsers POST Adobe Storefront Events SDK events here
(unauthenticated), admitted by origin, user agent, rate and size, onto `storefront.raw.v1`."""
