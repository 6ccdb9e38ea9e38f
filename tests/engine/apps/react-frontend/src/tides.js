export const tides = [
  { port: "Brest", high: "06:12", low: "12:31" },
  { port: "Falmouth", high: "05:48", low: "11:59" },
  { port: "Den Helder", high: "09:03", low: "15:20" },
];
