import { useState } from "react";
import { tides } from "./tides.js";

export function App() {
  const [port, setPort] = useState(tides[0].port);
  const tide = tides.find((t) => t.port === port);
  return (
    <main>
      <h1>Harbour tides</h1>
      <select value={port} onChange={(e) => setPort(e.target.value)}>
        {tides.map((t) => (
          <option key={t.port}>{t.port}</option>
        ))}
      </select>
      <p>
        High water at {tide.high}, low water at {tide.low}.
      </p>
    </main>
  );
}
