-- Search within a category through one GIN index over the search vector and the categories: the
-- index scan intersects the two itself, skipping through a category's long posting list to the
-- few products that match the words, where two indexes made a bitmap each (one of them the whole
-- category's) and ANDed them. Measured at 100k products, 'cast iron' in kitchen and its three
-- subcategories: 1 ms for the index part instead of 2.9. A search without a category uses the
-- first column as it used the index this replaces.
CREATE INDEX products_search_categories_idx ON products USING gin (search_vector, category_ids);
DROP INDEX products_search_idx;
