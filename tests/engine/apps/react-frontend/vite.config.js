import { defineConfig } from "vite";

// JSX through vite's own esbuild (no babel plugin needed)
export default defineConfig({
  esbuild: { jsx: "automatic" },
});
