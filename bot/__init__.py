"""GPSNR smallholder assistant."""
