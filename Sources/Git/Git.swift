// Git module: see DESIGN.md §2.
