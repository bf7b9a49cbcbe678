// The category tree (10 parents, 40 children) and ~300 skills of the synthetic marketplace. Each
// parent names the price family of profile-distributions.ts that shifts its providers' rates.
import type { PRICE_LOG_SHIFT_BY_FAMILY } from './profile-distributions.js';

export interface TaxonomyParent {
  slug: string;
  name: string;
  family: keyof typeof PRICE_LOG_SHIFT_BY_FAMILY;
  children: Record<string, string[]>;
}

export const TAXONOMY: readonly TaxonomyParent[] = [
  { slug: 'software-development', name: 'Software Development', family: 'programming', children: {
    'Backend Development': ['Node.js', 'TypeScript', 'Python', 'Django', 'Go', 'Java', 'Spring Boot', 'PostgreSQL'],
    'Mobile Development': ['React Native', 'Flutter', 'Swift', 'Kotlin', 'iOS', 'Android', 'Firebase'],
    'Desktop Applications': ['C#', '.NET', 'Electron', 'C++', 'Qt', 'WPF', 'Rust'],
    'QA & Testing': ['Selenium', 'Cypress', 'Playwright', 'Test Automation', 'Manual Testing', 'JMeter', 'Postman'],
  } },
  { slug: 'web-development', name: 'Web Development', family: 'web', children: {
    'Frontend Development': ['JavaScript', 'React', 'Vue.js', 'Angular', 'HTML', 'CSS', 'Tailwind CSS', 'Next.js'],
    'CMS & E-commerce': ['WordPress', 'Shopify', 'WooCommerce', 'Magento', 'Wix', 'Webflow', 'Drupal', 'PHP'],
    'Web Performance & Hosting': ['Nginx', 'Web Hosting', 'Cloudflare', 'Page Speed', 'cPanel', 'Linux Administration', 'SSL'],
    'Full-Stack Development': ['Laravel', 'Ruby on Rails', 'MySQL', 'MongoDB', 'Express.js', 'GraphQL', 'REST API'],
  } },
  { slug: 'data-ai', name: 'Data Science & AI', family: 'programming', children: {
    'Machine Learning': ['TensorFlow', 'PyTorch', 'scikit-learn', 'Deep Learning', 'Computer Vision', 'NLP', 'LLM Fine-Tuning'],
    'Data Analysis': ['Pandas', 'SQL', 'R', 'Statistics', 'Excel Modelling', 'Data Cleaning', 'A/B Testing', 'SPSS'],
    'Data Engineering': ['Apache Spark', 'Airflow', 'dbt', 'Kafka', 'Snowflake', 'BigQuery', 'ETL'],
    'Business Intelligence': ['Power BI', 'Tableau', 'Looker', 'Data Visualization', 'Google Data Studio', 'Dashboards', 'Metabase'],
  } },
  { slug: 'design-creative', name: 'Design & Creative', family: 'design', children: {
    'Graphic Design': ['Adobe Photoshop', 'Adobe Illustrator', 'Logo Design', 'Brand Identity', 'Flyer Design', 'Packaging Design', 'InDesign', 'Canva'],
    'UI/UX Design': ['Figma', 'Sketch', 'Wireframing', 'Prototyping', 'User Research', 'Adobe XD', 'Design Systems'],
    'Video & Animation': ['Video Editing', 'Adobe Premiere Pro', 'After Effects', 'Motion Graphics', '2D Animation', 'Whiteboard Animation', 'DaVinci Resolve'],
    '3D & Illustration': ['Blender', '3D Modelling', 'Digital Illustration', 'Character Design', 'Cinema 4D', 'Product Rendering', 'Children\'s Book Illustration'],
  } },
  { slug: 'writing', name: 'Writing & Content', family: 'writing', children: {
    'Content Writing': ['Blog Writing', 'Article Writing', 'SEO Writing', 'Ghostwriting', 'Creative Writing', 'Proofreading', 'Editing', 'Product Descriptions'],
    'Copywriting': ['Sales Copy', 'Email Copywriting', 'Ad Copy', 'Landing Page Copy', 'Brand Voice', 'UX Writing', 'Scriptwriting'],
    'Technical Writing': ['API Documentation', 'User Manuals', 'White Papers', 'Grant Writing', 'Research Writing', 'Markdown', 'Knowledge Bases'],
    'Resume & Career': ['Resume Writing', 'Cover Letters', 'LinkedIn Profiles', 'Career Coaching', 'Bios', 'Interview Coaching', 'Personal Statements'],
  } },
  { slug: 'translation', name: 'Translation & Languages', family: 'translation', children: {
    'European Languages': ['English to Spanish', 'English to French', 'English to German', 'English to Italian', 'English to Portuguese', 'Dutch Translation', 'Polish Translation'],
    'Asian Languages': ['English to Chinese', 'English to Japanese', 'English to Korean', 'Hindi Translation', 'Bengali Translation', 'Urdu Translation', 'Indonesian Translation'],
    'Localization': ['Software Localization', 'Game Localization', 'Website Localization', 'Subtitling', 'Transcription', 'Voice Over', 'Interpretation'],
    'Specialised Translation': ['Legal Translation', 'Medical Translation', 'Technical Translation', 'Financial Translation', 'Certified Translation', 'Arabic Translation', 'Russian Translation'],
  } },
  { slug: 'marketing', name: 'Sales & Marketing', family: 'marketing', children: {
    'Digital Marketing': ['SEO', 'Google Ads', 'Facebook Ads', 'Social Media Marketing', 'Email Marketing', 'Content Strategy', 'Influencer Marketing', 'Link Building'],
    'Marketing Analytics': ['Google Analytics', 'Google Tag Manager', 'Conversion Optimization', 'Marketing Automation', 'HubSpot', 'Attribution', 'Market Research'],
    'Sales & Lead Generation': ['Lead Generation', 'Cold Calling', 'B2B Sales', 'Salesforce', 'CRM Management', 'LinkedIn Outreach', 'Appointment Setting'],
    'E-commerce Marketing': ['Amazon FBA', 'Amazon PPC', 'Etsy SEO', 'Product Listing', 'Dropshipping', 'Marketplace Management', 'eBay'],
  } },
  { slug: 'finance-accounting', name: 'Finance & Accounting', family: 'finance', children: {
    'Bookkeeping': ['QuickBooks', 'Xero', 'Bookkeeping', 'Accounts Payable', 'Bank Reconciliation', 'Payroll', 'Invoicing'],
    'Financial Analysis': ['Financial Modelling', 'Valuation', 'Forecasting', 'Budgeting', 'Investment Research', 'Pitch Decks', 'Business Plans'],
    'Tax & Compliance': ['Tax Preparation', 'VAT', 'US Tax', 'Audit', 'IFRS', 'GAAP', 'Compliance'],
    'Crypto & Fintech': ['Solidity', 'Smart Contracts', 'Blockchain', 'Web3', 'DeFi', 'Crypto Trading', 'Tokenomics'],
  } },
  { slug: 'admin-support', name: 'Admin & Customer Support', family: 'other', children: {
    'Virtual Assistance': ['Virtual Assistant', 'Calendar Management', 'Email Management', 'Travel Planning', 'Research', 'Google Workspace', 'Microsoft Office'],
    'Data Entry': ['Data Entry', 'Web Scraping', 'Copy Paste', 'Data Mining', 'PDF Conversion', 'Typing', 'Spreadsheets'],
    'Customer Support': ['Customer Service', 'Zendesk', 'Live Chat', 'Phone Support', 'Technical Support', 'Intercom', 'Ticketing'],
    'Project Management': ['Project Management', 'Agile', 'Scrum', 'Jira', 'Asana', 'Trello', 'Notion'],
  } },
  { slug: 'engineering-architecture', name: 'Engineering & Architecture', family: 'other', children: {
    'CAD & Drafting': ['AutoCAD', 'SolidWorks', 'Revit', 'Fusion 360', 'Drafting', 'SketchUp', 'CATIA'],
    'Electrical & Electronics': ['PCB Design', 'Arduino', 'Raspberry Pi', 'Embedded C', 'IoT', 'Circuit Design', 'PLC Programming'],
    'Architecture & Interior': ['Interior Design', '3D Rendering', 'Floor Plans', 'Landscape Design', 'Architectural Design', 'Lumion', 'V-Ray'],
    'Cloud & DevOps': ['AWS', 'Docker', 'Kubernetes', 'Terraform', 'CI/CD', 'Azure', 'Google Cloud'],
  } },
];

export function slugify(text: string): string {
  return text.toLowerCase().replace(/\+/g, 'plus').replace(/#/g, 'sharp').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}
