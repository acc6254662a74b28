"""Adobe Storefront Events SDK events as a shopper's browser sends them: strict, every string and
list bounded, so a hostile body is refused by validation and never reaches the broker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr

# What the SDK's contexts hold is wider than what Cartwright reads; the rest is ignored unread.
Short = Annotated[StrictStr, Field(max_length=256)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Id = StrictInt | Annotated[StrictStr, Field(max_length=64)]
# How deep a body's JSON may nest: the SDK's own shape is five levels deep.
MAX_DEPTH = 12
MAX_CATEGORIES = 20
MAX_CART_ITEMS = 100


class Sdk(BaseModel):
    """Base of the SDK's contexts: strict types, camelCase wire names, unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)


class Pricing(Sdk):
    regular_price: float | None = Field(default=None, alias="regularPrice", ge=0, le=1e9)
    special_price: float | None = Field(default=None, alias="specialPrice", ge=0, le=1e9)
    currency_code: Annotated[StrictStr, Field(max_length=3)] | None = Field(
        default=None, alias="currencyCode"
    )


class ProductContext(Sdk):
    product_id: Id | None = Field(default=None, alias="productId")
    sku: Short
    name: Short | None = None
    top_level_sku: Short | None = Field(default=None, alias="topLevelSku")
    categories: list[Short] = Field(default_factory=list, max_length=MAX_CATEGORIES)
    pricing: Pricing | None = None


class CategoryContext(Sdk):
    name: Short | None = None
    url_path: Short | None = Field(default=None, alias="urlPath")


class PageContext(Sdk):
    page_type: Short | None = Field(default=None, alias="pageType")
    page_name: Short | None = Field(default=None, alias="pageName")


class StorefrontInstanceContext(Sdk):
    store_view_code: Short | None = Field(default=None, alias="storeViewCode")
    store_url: Short | None = Field(default=None, alias="storeUrl")


class ShopperContext(Sdk):
    shopper_id: Short | None = Field(default=None, alias="shopperId")


class CartItem(Sdk):
    quantity: float | None = Field(default=None, ge=0, le=1e6)


class ShoppingCartContext(Sdk):
    id: Id | None = None
    items: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_CART_ITEMS)


class AccountContext(Sdk):
    email: Short | None = None


class EventInfo(Sdk):
    page_context: PageContext | None = Field(default=None, alias="pageContext")
    storefront_instance_context: StorefrontInstanceContext | None = Field(
        default=None, alias="storefrontInstanceContext"
    )
    product_context: ProductContext | None = Field(default=None, alias="productContext")
    category_context: CategoryContext | None = Field(default=None, alias="categoryContext")
    shopper_context: ShopperContext | None = Field(default=None, alias="shopperContext")
    shopping_cart_context: ShoppingCartContext | None = Field(
        default=None, alias="shoppingCartContext"
    )
    account_context: AccountContext | None = Field(default=None, alias="accountContext")


class SdkEvent(Sdk):
    """`{event, eventInfo{…contexts…}, timestamp}`: one behaviour event from the browser."""

    event: Name
    event_info: EventInfo = Field(alias="eventInfo")
    # Strict mode takes a datetime only as an object; JSON text is read in lax mode for it.
    timestamp: Annotated[AwareDatetime, Field(strict=False)]

    @property
    def cart_id(self) -> str | None:
        cart = self.event_info.shopping_cart_context
        return None if cart is None or cart.id in (None, "") else str(cart.id)

    @property
    def claimed_email(self) -> str | None:
        """The email the browser says the shopper is logged in as: a claim, never an identity."""
        account = self.event_info.account_context
        shopper = self.event_info.shopper_context
        if account is None or not account.email:
            return None
        if shopper is not None and shopper.shopper_id == "guest":
            return None
        return account.email

    def without_claim(self) -> SdkEvent:
        """The event as a guest's: what waits for its cart once a claim was not confirmed."""
        info = self.event_info.model_copy(update={"account_context": None})
        return self.model_copy(update={"event_info": info})


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep `value` (parsed JSON) nests, counting stops past `limit` (iterative: a hostile
    body cannot exhaust the stack)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        children: Sequence[Any] = list(item.values()) if isinstance(item, dict) else item
        pending.extend((child, level + 1) for child in children)
    return deepest
