-- revenue: per key, the revenue of the converting rows, one entry per
-- currency (sorted), with the total and the average per converting event
-- that carries revenue in it. Amounts of different currencies are never
-- added together.
SELECT {{key}}, list({'currency': currency, 'total': total, 'average': average} ORDER BY currency) AS revenue
FROM (
    SELECT {{key}}, revenue_currency AS currency,
           sum(revenue_amount) AS total, avg(revenue_amount)::DOUBLE AS average
    FROM {{rows}}
    WHERE {{hit}} revenue_currency IS NOT NULL AND revenue_amount IS NOT NULL
    GROUP BY ALL
)
GROUP BY {{key}}
