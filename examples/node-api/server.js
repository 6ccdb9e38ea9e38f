const express = require("express");

const app = express();
const port = Number(process.env.PORT || 80);
const orders = new Map([
  ["1001", { id: "1001", status: "shipped" }],
  ["1002", { id: "1002", status: "pending" }],
]);

app.get("/healthz", (_req, res) => res.send("ok"));

app.get("/orders/:id", (req, res) => {
  const order = orders.get(req.params.id);
  if (!order) {
    res.status(404).json({ error: "no such order" });
    return;
  }
  res.json(order);
});

app.listen(port, () => console.log(`orders-api listening on ${port}`));
