"""A tiny inventory API: list the stock, look up one item by SKU."""

from flask import Flask, abort, jsonify, request

app = Flask(__name__)

# Stands in for the database the real service would query.
ITEMS = {
    "KB-101": {"sku": "KB-101", "name": "Mechanical keyboard", "stock": 12},
    "MS-220": {"sku": "MS-220", "name": "Wireless mouse", "stock": 0},
    "HD-330": {"sku": "HD-330", "name": "USB-C hub", "stock": 41},
}


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/items")
def list_items():
    in_stock_only = request.args.get("in_stock") == "1"
    items = [i for i in ITEMS.values() if i["stock"] > 0 or not in_stock_only]
    return jsonify(items)


@app.get("/items/<sku>")
def get_item(sku: str):
    item = ITEMS.get(sku.upper())
    if item is None:
        abort(404, description=f"no item with SKU {sku}")
    return item


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000, debug=True)
