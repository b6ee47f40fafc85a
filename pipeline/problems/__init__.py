"""Browsing generated problems: paged, filtered, searched queries and the inspector's detail."""
