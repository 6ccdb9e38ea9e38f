"""Built images: opening them from any source (:mod:`keelhaul.image.model` is the contract
between the sources and the analysis) and finding where their bytes went."""
